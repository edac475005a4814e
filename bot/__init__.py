"""ikabot: KDN's IKA negotiation procedure, worked from Telegram."""
