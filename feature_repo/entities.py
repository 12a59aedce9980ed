"""Entities: the keys features are looked up by."""

from feast import Entity, ValueType

zipcode = Entity(name="zipcode", join_keys=["zipcode"], value_type=ValueType.INT64, description="US zipcode of the applicant")
person = Entity(name="person", join_keys=["dob_ssn"], value_type=ValueType.STRING, description="applicant (date of birth + SSN suffix)")
