/**
 * The order test files start in: vitest's own (the slowest first, by the last run's durations),
 * with the files that run on a stack of their own ({@link OWN_STACK_FILES}) in front, so that they
 * run alongside the shared stack's files from the start instead of after them.
 */
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { ownsItsStack } from './shared-stack';

export class OwnStackFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const own = (f: TestSpecification) => ownsItsStack(f.moduleId);
    return [...sorted.filter(own), ...sorted.filter((f) => !own(f))];
  }
}
