/** The operator's version (package.json's), printed by --version and logged at start. */
export const OPERATOR_VERSION = "0.1.0";
