"""Likely duplicate organisations: same registration number, VAT number or PIC,
or a very similar name in the same city. Warnings on create and import, and the
association's report of likely pairs (``crm.merge`` shows it and merges them)."""
