/** Every source kind the worker can build from the config file, with its options schema. */
import { defaultSourceRegistry, registerSourceKind, type SourceRegistry } from '../common/tenure-config.js';
import { NmbrsSource } from '../connectors/sources/nmbrs.js';
import { NmbrsSourceOptions } from '../connectors/sources/nmbrs/options.js';
import { RAET_MAPPING_SCOPES, RaetSource } from '../connectors/sources/raet.js';
import { RaetSourceOptions } from '../connectors/sources/raet/options.js';
import { VismaNetSource } from '../connectors/sources/vismanet.js';
import { VismaNetSourceOptions } from '../connectors/sources/vismanet/options.js';

export function tenureSourceRegistry(): SourceRegistry {
  const registry = defaultSourceRegistry();
  // The schemas' own `id` defaults are overridden by the config entry's id.
  registerSourceKind(registry, 'raet', {
    schema: RaetSourceOptions,
    create: (o, ctx) => new RaetSource({ ...o, id: ctx.id }, ctx.mapping ? { mapping: ctx.mapping } : {}),
    mappingScopes: RAET_MAPPING_SCOPES,
  });
  registerSourceKind(registry, 'vismanet', {
    schema: VismaNetSourceOptions,
    create: (o, ctx) => new VismaNetSource({ ...o, id: ctx.id }),
  });
  registerSourceKind(registry, 'nmbrs', {
    schema: NmbrsSourceOptions,
    create: (o, ctx) => new NmbrsSource({ ...o, id: ctx.id }),
  });
  return registry;
}
