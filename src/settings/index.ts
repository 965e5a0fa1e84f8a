export { SettingsSchema, type Settings, type SettingsInput } from './schema.ts';
export { loadSettingsFile, loadSecrets, parseSettings, type Secrets } from './load-settings.ts';
