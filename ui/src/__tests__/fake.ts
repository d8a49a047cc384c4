import { vi } from 'vitest'
import type { Backend } from '../ipc'

/** A backend whose every call is a mock; tests override what they use. */
export function fakeBackend(overrides: Partial<Backend> = {}): Backend {
  const never = () => vi.fn(async () => {
    throw new Error('not used by this test')
  })
  return {
    lockState: vi.fn(async () => ({ state: 'locked' as const, data_dir: '/data', wait_seconds: 0, demo_passphrase: null, min_chars: 8 })),
    unlock: vi.fn(async () => {}), lock: vi.fn(async () => {}), changePassphrase: never(),
    acceptDevice: vi.fn(async (fp: string) => fp), idleLockMinutes: vi.fn(async () => 10), setIdleLockMinutes: vi.fn(async () => {}),
    home: never(), loadDemo: never(), addCommunity: never(), previewInstrument: never(), importInstrument: never(),
    communitiesRecent: vi.fn(async () => []), lastInterviewer: vi.fn(async () => ''), startInterview: never(),
    interview: never(), answer: never(), setRepeatCount: never(), finalize: never(), editInterview: never(),
    discardInterview: never(), restoreInterview: never(), responseLists: vi.fn(async () => [[], [], []] as never),
    history: never(), chooseFolder: never(), exchangeStatus: never(), exportBundle: never(), importBundle: never(), conflicts: vi.fn(async () => []),
    resolveConflict: never(), exportData: never(), uiLang: vi.fn(async () => 'zh-CN' as const), setUiLang: vi.fn(async () => {}),
    bundleStatus: vi.fn(async () => []), replacedVersions: vi.fn(async () => []), restoreReplaced: never(),
    role: vi.fn(async () => 'laptop' as const), setRole: vi.fn(async () => {}), rounds: vi.fn(async () => []),
    setCurrentRound: never(), analysis: never(), analysisSettings: never(), setAnalysisSettings: never(), checklist: never(),
    acceptChecklist: never(), editChecklist: never(), communityReport: never(), classificationReport: never(),
    onProgress: vi.fn(async () => () => {}),
    libraries: never(), libraryTemplate: never(), importLibraries: never(), communityMatches: never(), setMatch: never(),
    proposeClusters: never(), createCluster: never(), clusters: vi.fn(async () => []), addMeeting: never(), setFollowUp: never(),
    clusterAgenda: never(), saveLibraryEntry: never(), importNeighbours: never(), projectNeeds: vi.fn(async () => []),
    addProjectNeed: never(), setProjectNeed: never(), cases: vi.fn(async () => []), addCase: never(),
    volunteered: vi.fn(async () => []), includeVolunteered: never(), sharedConflicts: vi.fn(async () => []),
    resolveSharedConflict: never(), firstRun: vi.fn(async () => ({ pending: false, data_dir: '/d' })),
    chooseLaptop: never(), chooseCentre: never(), openDataDir: never(), uiReady: vi.fn(async () => {}),
    ...overrides,
  } as Backend
}
