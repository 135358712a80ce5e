import { proxyActivities, setCurrentDetails } from '@temporalio/workflow';
import type { ComponentCheck, ConnectivityActivities } from '../activities/connectivity.js';

const options = { startToCloseTimeout: '30 seconds', retry: { maximumAttempts: 3 } } as const;
const { checkVault, checkDirectory, checkSftp } = proxyActivities<ConnectivityActivities>(options);

export interface ConnectivityReport {
  ok: boolean;
  checks: ComponentCheck[];
}

/** Checks that the vault, the directory and the file drop answer; the result reads as a checklist in the UI. */
export async function checkConnectivity(): Promise<ConnectivityReport> {
  const checks = await Promise.all([
    checkVault.executeWithOptions({ ...options, summary: 'PostgreSQL vault answers' }, []),
    checkDirectory.executeWithOptions({ ...options, summary: 'Active Directory bind over LDAPS' }, []),
    checkSftp.executeWithOptions({ ...options, summary: 'SFTP file drop lists its folder' }, []),
  ]);
  setCurrentDetails(checks.map((c) => `${c.ok ? '✔' : '✘'} ${c.component}: ${c.detail}`).join('\n'));
  return { ok: checks.every((c) => c.ok), checks };
}
