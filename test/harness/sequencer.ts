/**
 * The order test files start in, two at a time: vitest's own (the slowest first, by the last
 * run's durations, else the largest), except that the first file with a stack of its own
 * ({@link OWN_STACK_FILES}: the deployment test) starts at once, beside the shared stack's files,
 * and the other such files come last, where they run beside the shared stack's last file instead
 * of holding up its first.
 */
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { ownsItsStack } from './shared-stack';

export class OwnStackFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const own = sorted.filter((f) => ownsItsStack(f.moduleId));
    const shared = sorted.filter((f) => !ownsItsStack(f.moduleId));
    return [...own.slice(0, 1), ...shared, ...own.slice(1)];
  }
}
