import type { IndicatorCode } from './indicators.service.js';

export type Language = 'fr' | 'en';

export interface IndicatorDefinition {
  name: Record<Language, string>;
  numerator: Record<Language, string>;
  denominator: Record<Language, string>;
  target: number;
}

/** What each indicator counts, in the words of docs/indicators.md; served at /v1/indicators/definitions. */
export const DEFINITIONS: Record<IndicatorCode, IndicatorDefinition> = {
  I2: {
    name: {
      fr: 'Services qui ne redemandent pas une information déjà connue',
      en: 'Services that do not ask again for information already known',
    },
    numerator: {
      fr: 'Services actifs dans la période qui n’ont redemandé aucune information connue',
      en: 'Services active in the period that re-asked no known information',
    },
    denominator: { fr: 'Services actifs dans la période', en: 'Services active in the period' },
    target: 0.5,
  },
  I3: {
    name: {
      fr: 'Échéances précédées d’un rappel numérique',
      en: 'Deadlines preceded by a digital reminder',
    },
    numerator: {
      fr: 'Échéances tombant dans la période avec au moins un rappel numérique envoyé avant leur date',
      en: 'Deadlines falling due in the period with at least one digital reminder sent before their due date',
    },
    denominator: { fr: 'Échéances tombant dans la période', en: 'Deadlines falling due in the period' },
    target: 0.6,
  },
};
