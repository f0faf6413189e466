"""LFW people the encoder parity tests compare on: two photos each of people LFW has many of (gallery _0001, probe
_0002: 24 people, 48 aligned faces in all)."""

PARITY_PEOPLE = [
    "Ariel_Sharon", "Colin_Powell", "Donald_Rumsfeld", "George_W_Bush", "Gerhard_Schroeder", "Hugo_Chavez",
    "Jacques_Chirac", "Jean_Chretien", "John_Ashcroft", "Junichiro_Koizumi", "Serena_Williams", "Tony_Blair",
    "Alvaro_Uribe", "Andre_Agassi", "Atal_Bihari_Vajpayee", "Bill_Clinton", "Gloria_Macapagal_Arroyo",
    "Guillermo_Coria", "Jennifer_Capriati", "Laura_Bush", "Lleyton_Hewitt", "Luiz_Inacio_Lula_da_Silva",
    "Vladimir_Putin", "Silvio_Berlusconi",
]  # fmt: skip
