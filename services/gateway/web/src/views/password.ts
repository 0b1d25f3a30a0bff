import { h, mount } from '../dom.ts';
import { t } from '../i18n.ts';
import { changePassword } from '../session.ts';
import { failure, field, notice } from './common.ts';

/** Shown instead of the app while the user's password has expired (the gateway allows nothing else). */
export function renderPasswordChange(root: HTMLElement, onChanged: () => void): void {
  const current = h('input', {
    name: 'current',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
  });
  const next = h('input', {
    name: 'new',
    type: 'password',
    autocomplete: 'new-password',
    minlength: 12,
    required: true,
  });
  const again = h('input', {
    name: 'again',
    type: 'password',
    autocomplete: 'new-password',
    minlength: 12,
    required: true,
  });
  const message = h('div');
  mount(
    root,
    h(
      'main',
      { class: 'signin-page' },
      h(
        'form',
        {
          class: 'signin',
          onsubmit: async (event: Event) => {
            event.preventDefault();
            if (next.value !== again.value) return mount(message, notice(t('password.mismatch'), 'error'));
            try {
              await changePassword(current.value, next.value);
              onChanged();
            } catch (error) {
              mount(message, failure(error));
            }
          },
        },
        h('h1', null, t('password.title')),
        notice(t('password.expired'), 'info'),
        message,
        field(t('password.current'), current),
        field(t('password.new'), next),
        field(t('password.again'), again),
        h('button', { type: 'submit' }, t('password.submit')),
      ),
    ),
  );
}
