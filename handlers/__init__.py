"""What a message means: parsing, citizen and officer commands, USSD menus."""
