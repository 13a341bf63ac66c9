import { govPage, html, type Language, raw, type SafeHtml } from '#libs/web';
import type { DevAccount } from './accounts.js';

const TEXT = {
  fr: {
    site: 'Fournisseur d’identité de développement',
    signIn: 'Connexion',
    warning:
      'Fournisseur d’identité de développement : on s’y connecte par un nom seulement, sans mot de passe. Il ne fonctionne jamais en production, où le Service d’authentification gouvernementale le remplace.',
    client: (name: string) => `Pour accéder à : ${name}`,
    login: 'Nom de connexion',
    hint: 'Comptes de démonstration :',
    submit: 'Se connecter',
    cancel: 'Annuler',
    unknown: 'Aucun compte ne porte ce nom de connexion.',
    logout: 'Se déconnecter',
    logoutQuestion: 'Voulez-vous aussi fermer votre session auprès du fournisseur d’identité?',
    yes: 'Oui, me déconnecter',
    no: 'Non, rester connecté',
    loggedOut: 'Vous êtes déconnecté.',
    error: 'Une erreur est survenue',
  },
  en: {
    site: 'Development identity provider',
    signIn: 'Sign in',
    warning:
      'Development identity provider: you sign in with a name alone, no password. It never runs in production, where the government’s authentication service takes its place.',
    client: (name: string) => `To reach: ${name}`,
    login: 'Sign-in name',
    hint: 'Demo accounts:',
    submit: 'Sign in',
    cancel: 'Cancel',
    unknown: 'No account has that sign-in name.',
    logout: 'Sign out',
    logoutQuestion: 'Do you also want to end your session with the identity provider?',
    yes: 'Yes, sign me out',
    no: 'No, stay signed in',
    loggedOut: 'You are signed out.',
    error: 'Something went wrong',
  },
} as const;

/** `ui_locales` as the client asked (the portal passes its page's language); French unless it asks English. */
export function languageOf(uiLocales: unknown): Language {
  return typeof uiLocales === 'string' && /^en\b/.test(uiLocales) ? 'en' : 'fr';
}

function page(lang: Language, title: string, main: SafeHtml): string {
  return govPage({ lang, title: `${title} — ${TEXT[lang].site}`, main });
}

export function loginPage(
  lang: Language,
  uid: string,
  clientName: string,
  accounts: DevAccount[],
  error?: 'unknown',
): string {
  const t = TEXT[lang];
  return page(
    lang,
    t.signIn,
    html`<h1>${t.signIn}</h1>
<p class="notice">${t.warning}</p>
<p>${t.client(clientName)}</p>
${error ? html`<p class="notice error" role="alert" id="login-error">${t.unknown}</p>` : ''}
<form method="post" action="/interaction/${uid}/login">
  <p><label for="login">${t.login}</label><br>
  <input id="login" name="login" autocomplete="username" required autofocus
    ${error ? html`aria-invalid="true" aria-describedby="login-error"` : ''}></p>
  <p>${t.hint} ${accounts.map((a, i) => html`${i > 0 ? ', ' : ''}<code>${a.login}</code> (${a.given_name} ${a.family_name})`)}</p>
  <p><button type="submit">${t.submit}</button> <a href="/interaction/${uid}/abort">${t.cancel}</a></p>
</form>`,
  );
}

/** RP-initiated logout: `form` is the provider's own form (id op.logoutForm), submitted by the buttons. */
export function logoutPage(lang: Language, form: string): string {
  const t = TEXT[lang];
  return page(
    lang,
    t.logout,
    html`<h1>${t.logout}</h1>
<p>${t.logoutQuestion}</p>
${raw(form)}
<p><button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">${t.yes}</button>
<button type="submit" form="op.logoutForm" class="secondary">${t.no}</button></p>`,
  );
}

export function loggedOutPage(lang: Language): string {
  return page(lang, TEXT[lang].logout, html`<h1>${TEXT[lang].logout}</h1><p>${TEXT[lang].loggedOut}</p>`);
}

export function errorPage(lang: Language, out: { error?: string; error_description?: string }): string {
  const t = TEXT[lang];
  return page(
    lang,
    t.error,
    html`<h1>${t.error}</h1>
<p><code>${out.error ?? 'server_error'}</code>${out.error_description ? html` — ${out.error_description}` : ''}</p>`,
  );
}
