//! The built Debian package, installed into a clean folder with `dpkg -x` as a district's IT
//! person would unpack it: the desktop entry names the app in Chinese and English, the icon and
//! the `shequ` command line are inside, the installed CLI loads the demo district, and the
//! installed app, started under Xvfb through tauri-driver, shows it on its home screen.
//!
//! The package is `target/release/bundle/deb/*.deb`, made by `scripts/package.sh` (the test
//! command makes it before the end-to-end tests).

use std::path::PathBuf;
use std::process::Command;

use shequ_e2e::*;

fn the_deb() -> PathBuf {
    let dir = repo_root().join("target/release/bundle/deb");
    let debs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}; run scripts/package.sh first", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "deb"))
        .collect();
    assert_eq!(debs.len(), 1, "one package in {}: {debs:?}", dir.display());
    debs.into_iter().next().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_installed_package_runs_and_shows_the_demo_district() {
    let deb = the_deb();
    let root = tempfile::tempdir().unwrap();
    let install = root.path().join("install");
    let ok = Command::new("dpkg")
        .arg("-x")
        .arg(&deb)
        .arg(&install)
        .status()
        .unwrap();
    assert!(ok.success(), "dpkg -x {}", deb.display());
    // What the package declares: name, version, the WebKitGTK it needs.
    let info = Command::new("dpkg-deb")
        .arg("-f")
        .arg(&deb)
        .output()
        .unwrap();
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(info.contains("Package: shequ"), "{info}");
    assert!(
        info.contains(&format!("Version: {}", env!("CARGO_PKG_VERSION"))),
        "{info}"
    );
    assert!(info.contains("libwebkit2gtk-4.1-0"), "{info}");

    let app = install.join("usr/bin/shequ-desktop");
    let cli = install.join("usr/bin/shequ");
    assert!(app.is_file() && cli.is_file(), "both binaries installed");
    let desktop = std::fs::read_to_string(install.join("usr/share/applications/Shequ.desktop"))
        .expect("the desktop entry");
    for line in [
        "Name=Shequ",
        "Name[zh_CN]=社区分析",
        "Exec=shequ-desktop",
        "Icon=shequ-desktop",
        "Type=Application",
    ] {
        assert!(
            desktop.lines().any(|l| l == line),
            "{line} not in:\n{desktop}"
        );
    }
    let icon = install.join("usr/share/icons/hicolor/128x128/apps/shequ-desktop.png");
    assert!(icon.is_file(), "{}", icon.display());

    // The installed command line loads the demo district into a new folder.
    let data = root.path().join("data");
    let out = Command::new(&cli)
        .env("SHEQU_PASSPHRASE", PASSPHRASE)
        .env_remove("SHEQU_LANG")
        .arg("--data-dir")
        .arg(&data)
        .arg("demo")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The installed app shows it.
    let driver = Driver::start().await;
    let c = driver.open_binary(&app, &data).await;
    unlock(&c, PASSPHRASE).await;
    past_first_run(&c).await;
    let names = texts(&wait_count(&c, &testid("community-name"), 12).await).await;
    assert!(names.iter().any(|n| n == "梧桐里社区"), "{names:?}");
    screenshot(&c, "installed-home-zh-CN.png").await;
    c.close().await.unwrap();
}
