"""Recognition: peer thanks from a monthly allowance, managers' spot awards from a monthly budget (maker-checker above
an amount), collusion flags, the feed per team and location, and nudges that help managers recognise in time."""
