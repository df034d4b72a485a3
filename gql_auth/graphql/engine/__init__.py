"""How an operation runs: document checks, execution, the error table, trusted documents."""
