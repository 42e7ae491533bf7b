import Projections
import XCTest

final class SearchTextTests: XCTestCase {
    func testArabicKeyboardFormsFindPersianText() {
        XCTAssertEqual(SearchText.normalize("علي كريمي"), SearchText.normalize("علی کریمی"))
        XCTAssertEqual(SearchText.normalize("علي كريمي"), "علی کریمی")
    }

    func testZWNJAndSpacesFoldToOneSpace() {
        XCTAssertEqual(SearchText.normalize("می‌خواهم"), "می خواهم")
        XCTAssertEqual(SearchText.normalize("  می خواهم \u{200C} "), "می خواهم")
    }

    func testDigitsOfEveryScriptBecomeASCII() {
        XCTAssertEqual(SearchText.normalize("فاکتور ۱۲۳ و ٤٥٦"), "فاکتور 123 و 456")
    }

    func testLatinIsCaseInsensitiveAndDiacriticsAndTatweelVanish() {
        XCTAssertEqual(SearchText.normalize("ACME Trading"), "acme trading")
        XCTAssertEqual(SearchText.normalize("مـــحمّد"), "محمد")
    }

    func testPhoneDigitsIgnoreSpacesDashesAndScripts() {
        XCTAssertEqual(SearchText.phoneDigits("+98 912-345 ۶۷۸۹"), "989123456789")
        XCTAssertEqual(SearchText.phoneDigits("(021) ٨٨٧٧-٦٦٥٥"), "02188776655")
    }

    func testWordsSplitNormalisedText() {
        // Alef with madda folds to plain alef: people type آریا and اریا for the same name.
        XCTAssertEqual(SearchText.words("شركت  بازرگاني‌ آريا"), ["شرکت", "بازرگانی", "اریا"])
        XCTAssertEqual(SearchText.normalize("آریا"), SearchText.normalize("اريا"))
    }
}
