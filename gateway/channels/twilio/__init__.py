"""Twilio: signed webhooks in, the REST client out."""
