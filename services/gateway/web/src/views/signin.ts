import { h, mount } from '../dom.ts';
import { t, type MessageKey } from '../i18n.ts';
import { signIn, type Session } from '../session.ts';
import { field, notice } from './common.ts';

const REASONS: Record<string, MessageKey> = {
  INVALID_CREDENTIALS: 'signin.invalid',
  TOTP_REQUIRED: 'signin.totpRequired',
  TOTP_INVALID: 'signin.totpInvalid',
  ACCOUNT_LOCKED: 'signin.locked',
  RATE_LIMITED: 'signin.rateLimited',
};

/** The sign-in page; the TOTP field appears once the gateway says the account needs it. */
export function renderSignIn(
  root: HTMLElement,
  expired: boolean,
  onSignedIn: (session: Session) => void,
): void {
  const username = h('input', {
    name: 'username',
    autocomplete: 'username',
    required: true,
    autofocus: true,
  });
  const password = h('input', {
    name: 'password',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
  });
  const totp = h('input', {
    name: 'totp',
    inputmode: 'numeric',
    autocomplete: 'one-time-code',
    pattern: '[0-9]{6}',
    maxlength: 6,
  });
  const totpField = field(t('signin.totp'), totp);
  totpField.hidden = true;
  const message = h(
    'div',
    { class: 'signin-message' },
    expired ? notice(t('signin.expired'), 'error') : null,
  );
  const submit = h('button', { type: 'submit' }, t('signin.submit'));

  const form = h(
    'form',
    {
      class: 'signin',
      onsubmit: async (event: Event) => {
        event.preventDefault();
        submit.disabled = true;
        try {
          const outcome = await signIn(username.value.trim(), password.value, totp.value.trim());
          if (outcome.ok) return onSignedIn(outcome.session);
          if (outcome.needsTotp) {
            totpField.hidden = false;
            totp.required = true;
            totp.focus();
          }
          mount(message, notice(t(REASONS[outcome.reason] ?? 'signin.invalid'), 'error'));
        } catch (error) {
          mount(
            message,
            notice(
              `${t('common.error')}: ${error instanceof Error ? error.message : String(error)}`,
              'error',
            ),
          );
        } finally {
          submit.disabled = false;
        }
      },
    },
    h('h1', null, t('app.title')),
    message,
    field(t('signin.username'), username),
    field(t('signin.password'), password),
    totpField,
    submit,
  );
  mount(root, h('main', { class: 'signin-page' }, form));
  username.focus();
}
