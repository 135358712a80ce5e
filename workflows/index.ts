// Every workflow the Tenure worker runs; the bundler starts here.
export * from './connectivity.js';
export * from './employee.js';
export * from './poll.js';
export * from './file-export.js';
export * from './admin-alerts.js';
export * from './bulk-reprovision.js';
export * from './retention.js';
export * from './rules-apply.js';
