/**
 * Role names: what `requiresRoles` in a deploy file can name, compared exactly, case included.
 * Spaces inside are allowed because Armory's files name roles like `Organization Admin`;
 * control characters, look-alike scripts and leading or trailing spaces are not. The control
 * plane's API tokens hold roles of this same grammar.
 */
export const ROLE_NAME_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9 ._:@+/-]{0,62}[A-Za-z0-9._:@+/-])?$/;

/** Whether a token could hold this role (a deploy file naming another one could only be approved by admin). */
export function isRoleName(value: string): boolean {
  return ROLE_NAME_PATTERN.test(value);
}
