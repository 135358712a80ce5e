import { Context } from '@temporalio/activity';

/** The running activity's context, or undefined when called outside an activity (tests, the CLI). */
export function inActivity(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined;
  }
}
