"""``flask --app wsgi crm refresh-metrics``."""

COMMANDS: list = []
