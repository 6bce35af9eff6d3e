"""What customers write: three phrasings per topic and language, plus small variations.

The table is data, parsed once at import: a topic line, then one line per language with the
phrasings separated by " | " (a line starting with "   | " continues the one above). The
topic is the `intent` every generated customer message carries, so topic clustering
downstream can be checked against it.
"""

from __future__ import annotations

_QUESTIONS = """
order_status
en Where is my order? | Has my order shipped yet? | can you check the status of my order
fi Missä tilaukseni on? | Onko tilaukseni jo lähetetty? | voitko tarkistaa tilaukseni tilan
sv Var är min beställning? | Har min order skickats än? | kan ni kolla status på min order
fr Où est ma commande ? | Ma commande a-t-elle été expédiée ? | vous pouvez vérifier ma commande
id Pesanan saya di mana? | Apakah pesanan saya sudah dikirim? | tolong cek status pesanan saya
refund
en I want a refund | How do I get my money back? | when will my refund arrive
fi Haluan rahani takaisin | Miten saan hyvityksen? | milloin palautus tulee tilille
sv Jag vill ha pengarna tillbaka | Hur får jag återbetalning? | när kommer min återbetalning
fr Je veux être remboursé | Comment obtenir un remboursement ? | quand vais-je être remboursé
id Saya mau refund | Bagaimana cara minta pengembalian dana? | kapan dana saya dikembalikan
password_reset
en I forgot my password | How do I reset my password? | password reset link not working
fi Unohdin salasanani | Miten vaihdan salasanan? | salasanan palautuslinkki ei toimi
sv Jag har glömt mitt lösenord | Hur återställer jag lösenordet?
   | länken för nytt lösenord funkar inte
fr J'ai oublié mon mot de passe | Comment changer mon mot de passe ?
   | le lien de réinitialisation bug
id Saya lupa kata sandi | Bagaimana cara reset kata sandi? | link reset password tidak berfungsi
shipping_cost
en How much is shipping? | Do you ship for free? | what are the delivery costs to Finland
fi Paljonko toimitus maksaa? | Onko toimitus ilmainen? | mitkä ovat toimituskulut
sv Vad kostar frakten? | Har ni fri frakt? | hur mycket kostar leveransen till Sverige
fr Combien coûte la livraison ? | La livraison est-elle gratuite ? | quels sont les frais de port
id Berapa ongkos kirimnya? | Apakah ada gratis ongkir? | biaya pengiriman ke Jakarta berapa
delivery_time
en How long does delivery take? | When will my package arrive? | how many days to deliver
fi Kauanko toimitus kestää? | Milloin paketti saapuu? | montako päivää toimituksessa menee
sv Hur lång är leveranstiden? | När kommer mitt paket? | hur många dagar tar leveransen
fr Quel est le délai de livraison ? | Quand vais-je recevoir mon colis ?
   | combien de jours de livraison
id Berapa lama pengirimannya? | Kapan paket saya sampai? | pengiriman butuh berapa hari
cancel_subscription
en I want to cancel my subscription | How do I cancel? | please stop my monthly plan
fi Haluan lopettaa kestotilaukseni | Miten irtisanon jäsenyyden? | lopettakaa kuukausimaksuni
sv Jag vill säga upp min prenumeration | Hur avslutar jag abonnemanget? | stoppa min månadsplan
fr Je veux résilier mon abonnement | Comment annuler mon abonnement ? | arrêtez mon forfait mensuel
id Saya mau berhenti langganan | Bagaimana cara membatalkan langganan?
   | tolong hentikan paket bulanan
change_address
en I need to change my delivery address | Can I update my shipping address?
   | wrong address on my order
fi Pitää vaihtaa toimitusosoite | Voinko muuttaa osoitettani? | tilauksessa on väärä osoite
sv Jag behöver ändra leveransadressen | Kan jag uppdatera min adress? | fel adress på min order
fr Je dois changer mon adresse | Puis-je modifier mon adresse de livraison ? | mauvaise adresse
id Saya perlu ganti alamat pengiriman | Bisa ubah alamat saya? | alamat di pesanan saya salah
invoice_copy
en Can I get a copy of my invoice? | I need a receipt for my order | where do I find my invoices
fi Saisinko kopion laskusta? | Tarvitsen kuitin tilauksesta | mistä löydän laskuni
sv Kan jag få en kopia på fakturan? | Jag behöver ett kvitto på min order
   | var hittar jag fakturorna
fr Puis-je avoir une copie de ma facture ? | Il me faut un reçu | où trouver mes factures
id Bisa minta salinan faktur? | Saya butuh kuitansi pesanan | di mana saya bisa lihat invoice saya
payment_failed
en My payment failed | Card declined at checkout | why was I charged twice
fi Maksu epäonnistui | Korttini hylättiin kassalla | miksi minulta veloitettiin kahdesti
sv Betalningen misslyckades | Kortet nekades i kassan | varför har jag debiterats två gånger
fr Mon paiement a échoué | Carte refusée au paiement | pourquoi ai-je été débité deux fois
id Pembayaran saya gagal | Kartu ditolak saat checkout | kenapa saya ditagih dua kali
discount_code
en My discount code doesn't work | Do you have any promo codes? | the coupon was not applied
fi Alennuskoodi ei toimi | Onko teillä alennuskoodeja? | kuponkia ei huomioitu
sv Min rabattkod fungerar inte | Har ni någon kampanjkod? | rabatten drogs inte av
fr Mon code promo ne marche pas | Avez-vous des codes de réduction ? | le coupon n'est pas appliqué
id Kode diskon saya tidak bisa dipakai | Ada kode promo? | kuponnya tidak terpakai
product_availability
en Is this item in stock? | When will it be available again? | do you have this in size M
fi Onko tuote varastossa? | Milloin tuote tulee takaisin myyntiin? | onko tätä kokoa M
sv Finns den här i lager? | När kommer den tillbaka i lager? | har ni den i storlek M
fr Cet article est-il en stock ? | Quand sera-t-il de nouveau disponible ? | vous l'avez en taille M
id Apakah barang ini ada stok? | Kapan tersedia lagi? | ada ukuran M
opening_hours
en What are your opening hours? | Are you open on Sunday? | when does customer service open
fi Mitkä ovat aukioloajat? | Oletteko auki sunnuntaina? | milloin asiakaspalvelu aukeaa
sv Vilka är era öppettider? | Har ni öppet på söndag? | när öppnar kundtjänst
fr Quels sont vos horaires ? | Êtes-vous ouverts le dimanche ?
   | le service client ouvre à quelle heure
id Jam buka kapan? | Apakah buka hari Minggu? | customer service buka jam berapa
warranty
en Is this covered by warranty? | How long is the warranty? | my product broke after two months
fi Kuuluuko tämä takuuseen? | Kuinka pitkä takuu on? | tuote hajosi kahden kuukauden jälkeen
sv Täcks det här av garantin? | Hur lång är garantin? | produkten gick sönder efter två månader
fr Est-ce couvert par la garantie ? | La garantie dure combien ?
   | mon produit est cassé après deux mois
id Apakah ini masih garansi? | Garansinya berapa lama? | produk saya rusak setelah dua bulan
return_label
en I need a return label | How do I return an item? | can you send me the return form
fi Tarvitsen palautuslapun | Miten palautan tuotteen? | voitteko lähettää palautuslomakkeen
sv Jag behöver en returetikett | Hur returnerar jag en vara? | kan ni skicka returblanketten
fr Il me faut une étiquette de retour | Comment retourner un article ?
   | envoyez-moi le bon de retour
id Saya butuh label retur | Bagaimana cara mengembalikan barang? | tolong kirim formulir retur
account_deletion
en Please delete my account | How do I close my account? | remove all my personal data
fi Poistakaa tilini | Miten suljen käyttäjätilini? | poistakaa kaikki henkilötietoni
sv Radera mitt konto | Hur stänger jag mitt konto? | ta bort alla mina personuppgifter
fr Supprimez mon compte svp | Comment fermer mon compte ? | effacez mes données personnelles
id Tolong hapus akun saya | Bagaimana cara menutup akun? | hapus semua data pribadi saya
technical_error
en The app keeps crashing | I get an error at checkout | the page won't load
fi Sovellus kaatuu jatkuvasti | Kassalla tulee virhe | sivu ei lataudu
sv Appen kraschar hela tiden | Jag får ett fel i kassan | sidan laddar inte
fr L'application plante sans arrêt | J'ai une erreur au paiement | la page ne charge pas
id Aplikasinya terus crash | Ada error saat checkout | halamannya tidak bisa dibuka
pricing_plans
en What plans do you offer? | How much is the premium plan? | is there a student discount
fi Millaisia paketteja teillä on? | Paljonko premium maksaa? | onko opiskelija-alennusta
sv Vilka paket har ni? | Vad kostar premium? | finns det studentrabatt
fr Quelles formules proposez-vous ? | Combien coûte l'offre premium ? | une réduction étudiant ?
id Paket apa saja yang tersedia? | Berapa harga paket premium? | ada diskon pelajar
contact_human
en I want to talk to a human | Can I speak to an agent? | real person please
fi Haluan puhua ihmisen kanssa | Voinko puhua asiakaspalvelijalle? | oikea ihminen kiitos
sv Jag vill prata med en människa | Kan jag prata med en handläggare? | riktig person tack
fr Je veux parler à un humain | Puis-je parler à un conseiller ? | une vraie personne svp
id Saya mau bicara dengan manusia | Bisa sambungkan ke agen? | tolong orang sungguhan
size_guide
en What size should I order? | Do your shoes run small? | where is the size chart
fi Mikä koko minun pitäisi tilata? | Ovatko kengät pienikokoisia? | missä on kokotaulukko
sv Vilken storlek ska jag beställa? | Är skorna små i storleken? | var hittar jag storleksguiden
fr Quelle taille dois-je commander ? | Vos chaussures taillent petit ? | où est le guide des tailles
id Ukuran apa yang harus saya pesan? | Apakah sepatunya kekecilan? | tabel ukurannya di mana
gift_card
en How do I use a gift card? | Can I buy a gift card? | my gift card balance is wrong
fi Miten käytän lahjakorttia? | Voiko teiltä ostaa lahjakortin? | lahjakortin saldo on väärin
sv Hur använder jag ett presentkort? | Kan jag köpa ett presentkort?
   | saldot på presentkortet är fel
fr Comment utiliser une carte cadeau ? | Puis-je acheter une carte cadeau ?
   | solde de carte cadeau faux
id Bagaimana cara pakai gift card? | Bisa beli kartu hadiah? | saldo gift card saya salah
"""

# Opening words and endings that make the same phrasing look typed by different people.
PREFIXES = {
    "en": ("", "hi, ", "hello ", "hey, "),
    "fi": ("", "moi, ", "hei ", "terve, "),
    "sv": ("", "hej, ", "hallå ", "tjena, "),
    "fr": ("", "bonjour, ", "salut ", "bonsoir, "),
    "id": ("", "halo, ", "hai ", "permisi, "),
}
SUFFIXES = {
    "en": ("", " thanks", " please", "??"),
    "fi": ("", " kiitos", " pliis", "??"),
    "sv": ("", " tack", " snälla", "??"),
    "fr": ("", " merci", " svp", " ??"),
    "id": ("", " terima kasih", " tolong", "??"),
}
# A bare greeting as the first message (intent "greeting").
GREETINGS = {
    "en": ("hi", "hello", "hey there"),
    "fi": ("moi", "hei", "moikka"),
    "sv": ("hej", "hallå", "hej hej"),
    "fr": ("bonjour", "salut", "bonsoir"),
    "id": ("halo", "hai", "selamat pagi"),
}
# Customer lines inside a human chat, labelled with the conversation's topic.
FOLLOW_UPS = {
    "en": ("ok thanks", "my order number is 48213", "I already tried that", "great, that helps"),
    "fi": ("ok kiitos", "tilausnumero on 48213", "kokeilin jo sitä", "hienoa, tämä auttaa"),
    "sv": ("ok tack", "ordernumret är 48213", "jag har redan provat det", "toppen, det hjälper"),
    "fr": ("ok merci", "mon numéro de commande est 48213", "j'ai déjà essayé", "super, ça aide"),
    "id": ("ok makasih", "nomor pesanan saya 48213", "saya sudah coba itu", "oke, itu membantu"),
}
PINGS = {
    "en": "hello? is anyone there?",
    "fi": "haloo? onko siellä ketään?",
    "sv": "hallå? är det någon där?",
    "fr": "allô ? il y a quelqu'un ?",
    "id": "halo? ada orang?",
}
REOPENS = {
    "en": "Sorry, the problem is back again",
    "fi": "Anteeksi, ongelma palasi taas",
    "sv": "Förlåt, problemet är tillbaka igen",
    "fr": "Désolé, le problème est revenu",
    "id": "Maaf, masalahnya muncul lagi",
}


def parse_table(block: str) -> dict[str, dict[str, tuple[str, ...]]]:
    table: dict[str, dict[str, tuple[str, ...]]] = {}
    topic = ""
    lang = ""
    for line in block.strip().splitlines():
        if line.startswith("   | "):  # a long line continued
            table[topic][lang] += tuple(part.strip() for part in line[5:].split("|"))
            continue
        lang, sep, rest = line.partition(" ")
        if not sep:
            topic = line
            table[topic] = {}
            continue
        table[topic][lang] = tuple(part.strip() for part in rest.split("|"))
    return table


QUESTIONS = parse_table(_QUESTIONS)
TOPICS: tuple[str, ...] = tuple(QUESTIONS)
