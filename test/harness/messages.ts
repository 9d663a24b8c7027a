export { testDecision } from '@walrus/harness';
