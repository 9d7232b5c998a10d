"""The training machinery: encoders, objectives, views, optimisers, seeding and the one trainer."""
