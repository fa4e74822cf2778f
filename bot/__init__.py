"""The Rasa assistant: domain, training data, custom NLU components and custom actions."""
