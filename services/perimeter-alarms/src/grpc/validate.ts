/**
 * Request checks for PerimeterAlarmService: every problem of a request is collected and
 * refused at once as INVALID_ARGUMENT naming the field and the reason.
 */
import { isUuid } from '@anfang/contracts';
import { InvalidArgumentError, type FieldViolation } from '@anfang/platform/grpc';

const MAX_TEXT = 200;
const MAX_COMMENT = 2000;
const MAX_DEVICES = 500;

export class RequestCheck {
  readonly problems: FieldViolation[] = [];

  fail(field: string, description: string): void {
    this.problems.push({ field, description });
  }

  text(field: string, value: string | null | undefined, required: boolean, max = MAX_TEXT): string {
    const text = (value ?? '').trim();
    if (!text && required) this.fail(field, 'required');
    if (text.length > max) this.fail(field, `at most ${max} characters`);
    return text;
  }

  comment(field: string, value: string | null | undefined): string {
    return this.text(field, value, false, MAX_COMMENT);
  }

  compound(field: string, value: string | null | undefined): string {
    const id = (value ?? '').trim();
    if (!id) this.fail(field, 'required');
    else if (!/^[0-9A-Za-z]{1,64}$/.test(id))
      this.fail(field, 'a standard-address code (letters and digits)');
    return id;
  }

  uuid(field: string, value: string | null | undefined): string {
    const id = (value ?? '').trim();
    if (!id) this.fail(field, 'required');
    else if (!isUuid(id)) this.fail(field, 'a lowercase UUID');
    return id;
  }

  deviceIds(field: string, values: readonly string[] | null | undefined): string[] {
    const ids = [...new Set((values ?? []).map((v) => v.trim()))];
    if (ids.some((id) => !id)) this.fail(field, 'no empty device ids');
    if (ids.length > MAX_DEVICES) this.fail(field, `at most ${MAX_DEVICES} devices`);
    return ids.filter(Boolean);
  }

  oneOf<K extends string>(
    field: string,
    value: number | null | undefined,
    choices: Readonly<Record<number, K>>,
  ): K {
    const choice = choices[value ?? 0];
    if (!choice) this.fail(field, `one of ${Object.values(choices).join(', ').toUpperCase()}`);
    return choice as K;
  }
}

/** Runs the checks, throws InvalidArgumentError with every problem, else returns the value. */
export function checked<T>(check: (c: RequestCheck) => T): T {
  const c = new RequestCheck();
  const value = check(c);
  if (c.problems.length > 0)
    throw new InvalidArgumentError(
      c.problems.map((p) => `${p.field}: ${p.description}`).join('; '),
      c.problems,
    );
  return value;
}
