/// ISO 4217 currencies crmd accepts, with the number of digits of their minor unit.
///
/// `IRR` counts whole rials (docs/protocol.md: no minor unit), although ISO lists two digits for it:
/// no price in Iran is quoted in fractions of a rial.
public enum Currency {
    /// Minor-unit digits by active ISO 4217 code.
    public static let minorUnits: [String: Int] = {
        var table: [String: Int] = [:]
        let groups: [(Int, String)] = [
            (0, "BIF CLP DJF GNF IRR ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"),
            (3, "BHD IQD JOD KWD LYD OMR TND"),
            (4, "CLF UYW"),
            (
                2,
                """
                AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN BZD CAD CDF
                CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD
                HKD HNL HTG HUF IDR ILS INR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP
                MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD
                SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS
                VED VES WST XCD XCG YER ZAR ZMW ZWG
                """
            ),
        ]
        for (digits, codes) in groups {
            for code in codes.split(whereSeparator: \.isWhitespace) { table[String(code)] = digits }
        }
        return table
    }()

    /// Every accepted code, sorted.
    public static let codes: [String] = minorUnits.keys.sorted()
}
