// Reports that the page is interactive, as Shequ's home screen does: one IPC round trip.
window.__TAURI_INTERNALS__.invoke('ui_ready', { screen: 'home' })
