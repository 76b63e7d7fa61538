"""What every provider simulator shares: fault injection, request logs, placeholder images and media."""
