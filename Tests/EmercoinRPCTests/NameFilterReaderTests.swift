import Foundation
import Testing
@testable import EmercoinRPC

@Suite struct NameFilterReaderTests {
    @Test func readsItemsWithEscapesAndExtraKeys() throws {
        let reply = #"""
        {"result": [
          {"name": "enum:123:0", "value": "RTJVK3NpcD0xfDF8IV4uKiQhc2lwOmFAYiE=", "registered_at": 5, "expires_in": 10},
          {"name":"enum:\u00e9\"\\\/x\ud83d\ude00","value":"","registered_at":1,"expires_in":-3,"expired":true,"extra":{"a":[1,2.5e3,null,false]}}
        ], "error": null, "id": 1}
        """#
        let items = try #require(NameFilterReader.items(in: Array(reply.utf8)))
        #expect(items.count == 2)
        #expect(String(decoding: items[0].name, as: UTF8.self) == "enum:123:0" && items[0].expiresIn == 10)
        #expect(Base64.decode(items[0].value).map { String(decoding: $0, as: UTF8.self) } == "E2U+sip=1|1|!^.*$!sip:a@b!")
        #expect(String(decoding: items[1].name, as: UTF8.self) == "enum:é\"\\/x😀" && items[1].expiresIn == -3)
        // The same reply through Foundation gives the same names.
        let o = try JSONSerialization.jsonObject(with: Data(reply.utf8)) as! [String: Any]
        let names = (o["result"] as! [[String: Any]]).map { Array(($0["name"] as! String).utf8) }
        #expect(names == items.map(\.name))
    }

    @Test(arguments: [
        #"{"result": null, "error": {"code": -4, "message": "x"}, "id": 1}"#,
        #"{"result": [{"name": "a", "value": "b"}], "error": null, "id": 1}"#,          // no expires_in
        #"{"result": [{"name": "a", "value": "b", "expires_in": 1.5}], "error": null}"#,
        #"{"result": [{"name": "a", "value": "b", "expires_in": 1}"#,                   // truncated
        #"{"result": [], "error": null, "id": 1} trailing"#,
        #"{"result": [{"name": "a\u12", "value": "b", "expires_in": 1}], "error": null}"#,
        "<html>garbage</html>",
        "",
    ])
    func anythingUnexpectedFallsBackToTheGeneralDecoder(reply: String) {
        #expect(NameFilterReader.items(in: Array(reply.utf8)) == nil)
    }

    @Test func emptyResult() throws {
        #expect(try #require(NameFilterReader.items(in: Array(#"{"result":[],"error":null,"id":1}"#.utf8))).isEmpty)
    }

    @Test func base64MatchesFoundation() {
        var rng = SystemRandomNumberGenerator()
        for n in 0..<200 {
            let bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let text = Array(Data(bytes).base64EncodedString().utf8)
            #expect(Base64.decode(text) == bytes)
        }
        for bad in ["abc", "ab=c", "a===", "ab==ab==", "AB\nC", "ABCD..(value too large"] {
            #expect(Base64.decode(Array(bad.utf8)) == nil, "\(bad)")
        }
    }
}
