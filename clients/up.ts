/**
 * The steps of `sv0 up`, in order: search attributes first (the other steps' workflows set them),
 * then each family's long-running parts. Each family exports its step from `clients/<family>/up.ts`;
 * this file only lists them.
 */
import { budgetGuardsUpStep } from './budget/up';
import { connectorsUpStep } from './connectors/up';
import { demoSweepUpStep } from './demo/up';
import { orgDriftUpStep } from './org/up';
import { searchAttributesUpStep } from './search-attributes';
import type { UpStep } from './up-step';

/** Every step of `sv0 up`. */
export function upSteps(): UpStep[] {
  return [searchAttributesUpStep, connectorsUpStep, orgDriftUpStep, demoSweepUpStep, budgetGuardsUpStep];
}
