import { acceptorSettings } from '@sediment/acceptor';
import { renderReference, type SettingsRecord } from '@sediment/config';
import { writerSettings } from '@sediment/writer';
import { readerSettings } from './store-options.js';

/** Every setting of every Sediment process, once (shared settings appear a single time). */
export const ALL_SETTINGS: SettingsRecord = {
  ...writerSettings,
  ...acceptorSettings,
  ...readerSettings,
};

/** The README's configuration reference table, generated from the definitions the code parses. */
export function configReference(): string {
  return renderReference(ALL_SETTINGS);
}
