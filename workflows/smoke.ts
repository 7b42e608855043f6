import { proxyActivities } from '@temporalio/workflow';
import type { createSmokeActivities } from '../activities/smoke';

const { whoAmI, runContainer } = proxyActivities<ReturnType<typeof createSmokeActivities>>({
  startToCloseTimeout: '1 minute',
  retry: { maximumAttempts: 3 },
});

export interface SmokeResult {
  awsAccount: string;
  containerExitCode: number;
  containerOutput: string;
}

/** The stack check: one AWS call and one container run, so every real part is proven in one run. */
export async function smokeWorkflow(input: { image: string; message: string }): Promise<SmokeResult> {
  const identity = await whoAmI();
  const container = await runContainer({ image: input.image, command: ['echo', input.message] });
  return {
    awsAccount: identity.account,
    containerExitCode: container.exitCode,
    containerOutput: container.output,
  };
}
