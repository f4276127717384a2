"""Outgoing e-mail: one transport (SMTP or the outbox), consent per purpose, and
signed unsubscribe links. Mailings, reminders and account mail build on these."""
