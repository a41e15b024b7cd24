#!/usr/bin/env node
// Placeholder entrypoint replaced by the operator implementation.
process.stderr.write("sluice-operator: not implemented yet\n");
process.exit(1);
