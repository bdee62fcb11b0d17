"""Transports only: SMPP, Twilio, HTTP partners, USSD; codecs and senders. Knows no complaints."""
