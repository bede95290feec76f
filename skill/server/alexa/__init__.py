"""The Alexa-style skill endpoint: request verification, dispatch, and the interaction model."""
