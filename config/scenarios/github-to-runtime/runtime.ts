/** The runtime the pipeline deploys to (demo workload): answers with its version. */
export async function handler(): Promise<{ status: string; version: string }> {
  return { status: 'ok', version: process.env.AWS_LAMBDA_FUNCTION_VERSION ?? 'initial' };
}
