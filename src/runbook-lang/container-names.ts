// Docker's container name rules, checked before a name from a runbook or an alert label goes into a
// Docker API path (`/containers/<name>/restart`): a name such as `../../images/x` or `a/b?c` would
// otherwise address another endpoint. Pure code, shared by the validator and the Docker activities.

const MAX_NAME_LENGTH = 255;

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102);
}

function isAlnum(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** A container id (12 to 64 lower-case hex digits) or a name matching `[a-zA-Z0-9][a-zA-Z0-9_.-]*`. */
export function isContainerName(value: string): boolean {
  if (value.length === 0 || value.length > MAX_NAME_LENGTH) return false;
  let hex = value.length >= 12 && value.length <= 64;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (!isHex(c)) hex = false;
    const allowed = isAlnum(c) || (i > 0 && (c === 95 || c === 46 || c === 45)); // _ . -
    if (!allowed && !hex) return false;
  }
  return true;
}

export const CONTAINER_NAME_RULE =
  'a Docker container name (letters, digits, _ . - and starting with a letter or digit) or a 12 to 64 digit hex id';
