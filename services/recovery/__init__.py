"""Recovery service: runs declared catalog actions for new incidents, records each before it runs, verifies."""
