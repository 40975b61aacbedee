/**
 * Cron expressions are evaluated by cron-parser (ours in config/clusters.ts, and BullMQ's for the job schedulers
 * of lifecycle/schedules.ts), which builds luxon DateTimes. The first one makes luxon ask Intl for the system
 * locale (`new Intl.DateTimeFormat()`), which loads ICU's locale data: ~7 MB of resident memory in every replica,
 * for a locale nothing here formats with (schedules are computed in UTC). luxon's documented
 * `Settings.defaultLocale` answers the question instead.
 *
 * Through require: cron-parser is CommonJS and loads luxon's CommonJS build; `import 'luxon'` would set the
 * setting on its separate ES build.
 */
import { createRequire } from 'node:module';

const luxon = createRequire(import.meta.url)('luxon') as { Settings: { defaultLocale: string } };
luxon.Settings.defaultLocale = 'en-US';
