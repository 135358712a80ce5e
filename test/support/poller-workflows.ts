/** Workflow bundle entry for poller tests: the real poll workflow and the recording stand-in. */
export { pollSource } from '../../workflows/poll.js';
export { employeeLifecycle } from './recording-employee-workflow.js';
