/** Collects a request's problems and refuses them together as INVALID_ARGUMENT, field by field. */
import { isUuid } from '@anfang/contracts';
import { InvalidArgumentError, type FieldViolation } from '@anfang/platform/grpc';

export class Problems {
  readonly list: FieldViolation[] = [];

  readonly add = (field: string, description: string): void => {
    this.list.push({ field, description });
  };

  compound(field: string, value: string | null | undefined): string {
    const id = (value ?? '').trim();
    if (!/^[0-9A-Za-z]{1,64}$/.test(id)) this.add(field, 'a standard-address code (letters and digits)');
    return id;
  }

  uuid(field: string, value: string | null | undefined): string {
    const id = (value ?? '').trim();
    if (!isUuid(id)) this.add(field, 'a lowercase UUID');
    return id;
  }

  text(field: string, value: string | null | undefined, required: boolean, max = 500): string {
    const text = (value ?? '').trim();
    if (required && !text) this.add(field, 'required');
    if (text.length > max) this.add(field, `at most ${max} characters`);
    return text;
  }

  /** Throws when anything was added. */
  done(): void {
    if (this.list.length > 0)
      throw new InvalidArgumentError(
        this.list.map((p) => `${p.field}: ${p.description}`).join('; '),
        this.list,
      );
  }
}

/** Runs `read` over a fresh Problems, refuses what it found, else returns what it read. */
export function valid<T>(read: (p: Problems) => T): T {
  const p = new Problems();
  const value = read(p);
  p.done();
  return value;
}
