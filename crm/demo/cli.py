"""``flask --app wsgi crm seed-demo``."""

COMMANDS: list = []
