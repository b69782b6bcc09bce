"""One module per page: each reads the ledger through processors/ and renders a template."""
