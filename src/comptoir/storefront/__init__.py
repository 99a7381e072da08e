"""What the shop's checkout and customer account call."""
