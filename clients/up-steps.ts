/**
 * The steps of `sv0 up`, in order: search attributes first (the other steps' workflows set them),
 * then each family's long-running parts. Each family exports its own starter; this file only
 * lists them.
 */
import { budgetGuardsStep } from './budget-guards';
import { connectorsUpStep } from './connector-schedules';
import { demoSweepUpStep } from './demo-up';
import { orgDriftUpStep } from './org';
import { ensureSearchAttributes, searchAttributeStatus } from './search-attributes';
import type { UpStep } from './up';

/** Register the project's search attributes where the server allows it (not on Temporal Cloud). */
export const searchAttributesStep: UpStep = {
  name: 'search attributes',
  async run(ctx) {
    const connection = ctx.client.connection;
    let added: string[];
    try {
      added = await ensureSearchAttributes(connection, ctx.namespace);
    } catch (err) {
      const { missing } = await searchAttributeStatus(connection, ctx.namespace).catch(() => ({
        missing: ['?'],
      }));
      throw new Error(
        `cannot register ${missing.join(', ')} on this server (${(err as Error).message.split('\n')[0]}); ` +
          'on Temporal Cloud add them in the namespace settings or with `tcld namespace search-attributes add`',
      );
    }
    const { wrongType } = await searchAttributeStatus(connection, ctx.namespace);
    if (wrongType.length > 0) {
      throw new Error(
        `registered with the wrong type: ${wrongType.map((w) => `${w.name} is ${w.actual}, needs ${w.expected}`).join('; ')}`,
      );
    }
    return added.length > 0
      ? { status: 'created', detail: `registered ${added.join(', ')}`, items: added }
      : { status: 'unchanged', detail: 'all registered' };
  },
};

/** Every step of `sv0 up`. */
export function upSteps(): UpStep[] {
  return [searchAttributesStep, connectorsUpStep, orgDriftUpStep, demoSweepUpStep, budgetGuardsStep];
}
