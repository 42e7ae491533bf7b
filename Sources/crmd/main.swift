print("crmd")
