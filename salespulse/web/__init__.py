"""`salespulse web`: the people's pages (My week, reviews, mystery checks, the team) and the webhooks."""
